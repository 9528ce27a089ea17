import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// Ten-crop views against torchvision's `ten_crop`, and the averaging of softmax predictions.
final class TestTimeAugmentationTests: XCTestCase {
    func testTenCropYieldsTheExactTenViews() throws {
        let file = try Fixtures.load("regularization", "ten_crop")
        let x = file.tensor("x", as: Double.self)
        let views = tenCrops(x, height: Int(file.number("height")!), width: Int(file.number("width")!))
        XCTAssertEqual(views.count, 10)
        for (i, view) in views.enumerated() { XCTAssertEqual(view, file.tensor("view\(i)"), "view \(i)") }
        for i in 0..<5 {
            XCTAssertNotEqual(views[i], views[i + 5])
        }
        // The flipped top-left is the mirror of the top-right, and so on.
        XCTAssertEqual(views[5], flippedHorizontally(views[1]))
        XCTAssertEqual(views[6], flippedHorizontally(views[0]))
        // torchvision crops the centre of the *flipped* image: with (7 − 4)/2 = 1.5 rounded to 2 the
        // window is not symmetric, so view 9 mirrors columns 1…4, not view 4's columns 2…5.
        XCTAssertEqual(views[9], flippedHorizontally(cropped(x, top: 2, left: 1, height: 3, width: 4)))
        XCTAssertNotEqual(views[9], flippedHorizontally(views[4]))
    }

    func testCenterCropUsesPythonRounding() {
        let x = Tensor<Float>(shape: [1, 1, 1, 9], scalars: (0..<9).map(Float.init))
        // (9 − 4)/2 = 2.5 rounds to 2 (ties to even), like torchvision.
        XCTAssertEqual(centerCropped(x, height: 1, width: 4).scalars, [2, 3, 4, 5])
        XCTAssertEqual(centerCropped(x, height: 1, width: 6).scalars, [2, 3, 4, 5, 6, 7], "(9 − 6)/2 = 1.5 rounds to 2")
    }

    /// A "classifier" whose logits are the mean intensity of the left and right halves: views differ,
    /// so averaging is observable.
    func predictor(_ calls: UnsafeMutablePointer<Int>) -> (Tensor<Double>) -> Tensor<Double> {
        return { view in
            calls.pointee += 1
            let w = view.shape[3]
            var logits = Tensor<Double>(zeros: [view.shape[0], 2])
            for n in 0..<view.shape[0] {
                let sample = view.row(n)
                var left = 0.0, right = 0.0
                for c in 0..<view.shape[1] { for i in 0..<view.shape[2] { for j in 0..<w {
                    if j < w / 2 { left += sample[c, i, j] } else { right += sample[c, i, j] }
                } } }
                logits[n, 0] = left
                logits[n, 1] = right
            }
            return logits
        }
    }

    func testTenCropPredictionAveragesSoftmaxOverTheViews() {
        var generator = RandomGenerator(seed: 1)
        let x = Tensor<Double>(uniform: [3, 2, 8, 8], using: &generator)
        var calls = 0
        let f = predictor(&calls)
        let averaged = tenCropPrediction(x, height: 5, width: 5, predictor: f)
        XCTAssertEqual(calls, 10)
        var expected = Tensor<Double>(zeros: [3, 2])
        for view in tenCrops(x, height: 5, width: 5) { expected += f(view).softmax(alongAxis: -1) }
        assertClose(averaged, expected / 10, relative: 1e-14)
        for n in 0..<3 { XCTAssertEqual(averaged.row(n).sum(), 1, accuracy: 1e-12) }
    }

    func testMultiScalePrediction() {
        var generator = RandomGenerator(seed: 2)
        let x = Tensor<Double>(uniform: [2, 1, 6, 9], using: &generator)
        XCTAssertTrue(shorterSideResizedSize(height: 6, width: 9, shorterSide: 8) == (8, 12))
        XCTAssertTrue(shorterSideResizedSize(height: 9, width: 6, shorterSide: 4) == (6, 4))
        var calls = 0
        let f = predictor(&calls)
        let averaged = multiScalePrediction(x, scales: [6, 8], crop: (height: 5, width: 5), predictor: f)
        XCTAssertEqual(calls, 20, "ten crops at each of two scales")
        var expected = Tensor<Double>(zeros: [2, 2])
        for view in tenCrops(x, height: 5, width: 5) + tenCrops(resizeBilinear(x, height: 8, width: 12), height: 5, width: 5) {
            expected += f(view).softmax(alongAxis: -1)
        }
        assertClose(averaged, expected / 20, relative: 1e-14)

        calls = 0
        let whole = multiScalePrediction(x, scales: [6], crop: nil, predictor: f)
        XCTAssertEqual(calls, 2, "without a crop: the image and its mirror")
        assertClose(whole, (f(x).softmax(alongAxis: -1) + f(flippedHorizontally(x)).softmax(alongAxis: -1)) / 2, relative: 1e-14)
    }
}
