import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// RandAugment / TrivialAugment operations, rotations and affine warps against torchvision.transforms.v2
/// on greyscale and RGB images (Scripts/fixtures/gen_autoaugment.py), the magnitude tables, the
/// policies' sampling, and the `--augment` grammar for them.
final class AutoAugmentTests: XCTestCase {
    let imageNames = ["gray", "rgb", "big_gray", "big_rgb"]

    /// Applies `operation` to every sample of a batch.
    func applied<Scalar: TensorScalar>(_ operation: AutoAugmentOperation, _ x: Tensor<Scalar>, magnitude: Double) -> Tensor<Scalar> {
        var y = x
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        y.withUnsafeMutableBufferPointer { all in
            for i in 0..<n {
                operation.apply(UnsafeMutableBufferPointer(rebasing: all[(i * c * h * w)..<((i + 1) * c * h * w)]),
                                channels: c, height: h, width: w, magnitude: magnitude)
            }
        }
        return y
    }

    func testEveryOperationMatchesTorchvision() throws {
        let f = try Fixtures.load("autoaugment", "operations")
        for operation in AutoAugmentOperation.allCases {
            let magnitudes = f.metadata["magnitudes.\(operation.rawValue)"]!.split(separator: ",").map { Double($0)! }
            for (k, m) in magnitudes.enumerated() {
                for name in imageNames {
                    guard let expected = f.tensors["\(operation.rawValue).\(k).\(name)"]?.tensor(as: Double.self) else { continue }
                    let x = f.tensor(name, as: Double.self)
                    assertClose(applied(operation, x, magnitude: m), expected, relative: 1e-12, absolute: 1e-14,
                                "\(operation) magnitude \(m) on \(name)")
                    // Float images agree to single precision (equalize and posterize quantize, so a
                    // value on a bin edge may land one bin apart: compare those by count).
                    let single = applied(operation, Tensor<Float>(x), magnitude: m)
                    let mismatched = zip(single.scalars, expected.scalars).filter { abs(Double($0) - $1) > 1e-5 }.count
                    XCTAssertLessThanOrEqual(mismatched, operation == .equalize || operation == .posterize ? 2 : 0,
                                             "\(operation) magnitude \(m) on \(name) (Float)")
                }
            }
        }
    }

    func testRotationsAndAffineWarpsMatchTorchvision() throws {
        let f = try Fixtures.load("autoaugment", "warps")
        let angles = f.metadata["rotate_angles"]!.split(separator: ",").map { Double($0)! }
        let params = f.tensor("affine_params", as: Double.self)
        for name in ["gray", "rgb"] {
            let x = f.tensor(name, as: Double.self)
            for (k, angle) in angles.enumerated() {
                XCTAssertEqual(rotated(x, degrees: [angle]), f.tensor("rotate.\(k).\(name)"), "rotate \(angle) \(name)")
            }
            for k in 0..<params.shape[0] {
                let p = params.row(k).scalars
                let transform = AffineTransform(angle: p[0], translation: (p[1], p[2]), scale: p[3], shear: (p[4], p[5]))
                XCTAssertEqual(affineWarped(x, transforms: [transform]), f.tensor("affine.\(k).\(name)"), "affine \(p) \(name)")
            }
        }
    }

    func testMagnitudeTablesMatchTorchvision() throws {
        let f = try Fixtures.load("autoaugment", "magnitudes")
        for (prefix, space) in [("randaugment", AutoAugmentSpace.randAugment), ("trivialaugment", .trivialAugmentWide)] {
            for operation in AutoAugmentOperation.allCases {
                let table = (0..<31).map { space.magnitude(operation, bin: $0, height: 9, width: 11) }
                guard let expected = f.tensors["\(prefix).\(operation.rawValue)"]?.tensor(as: Double.self) else {
                    XCTAssertTrue(table.allSatisfy { $0 == nil }, "\(prefix) \(operation) has no magnitudes")
                    continue
                }
                // torch.linspace rounds the last bit by its vectorized chunks; the values agree to that bit.
                assertClose(Tensor(table.map { $0! }), expected, relative: 1e-15, absolute: 1e-15, "\(prefix) \(operation)")
            }
        }
    }

    /// The policies draw per sample: the same seed gives the same batch, samples differ from each
    /// other, magnitude 0 of RandAugment with only value-preserving operations changes nothing, and
    /// outputs stay in [0, 1].
    func testPoliciesAreDeterministicPerSampleAndStayInRange() {
        var g = RandomGenerator(seed: 2)
        let x = Tensor<Float>(uniform: [16, 3, 12, 12], using: &g)
        for policy in [AugmentationPipeline([.randAugment(operations: 2, magnitude: 9)]), AugmentationPipeline([.trivialAugment])] {
            var a = RandomGenerator(seed: 8), b = RandomGenerator(seed: 8)
            let y = policy(x, using: &a)
            XCTAssertEqual(y, policy(x, using: &b))
            XCTAssertTrue(y.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
            let changed = (0..<16).filter { y.row($0) != x.row($0) }.count
            XCTAssertGreaterThan(changed, 8, "\(policy): most samples are transformed")
        }
        var c = RandomGenerator(seed: 8)
        let grey = Tensor<Float>(uniform: [4, 1, 6, 6], using: &c)
        XCTAssertEqual(randAugment(grey, operations: 0, magnitude: 9, using: &c), grey, "no operations")
        var d = RandomGenerator(seed: 1)
        XCTAssertEqual(randomRotation(grey, degrees: 0, using: &d), grey)
        XCTAssertEqual(randomAffine(grey, degrees: 0, using: &d), grey)
    }

    func testPipelineGrammar() throws {
        let pipeline = try AugmentationPipeline(parsing: "randaugment:2,9, rotate:15, affine:10:0.1:0.9:1.1:5, trivialaugment, flip")
        XCTAssertEqual(pipeline.steps, [.randAugment(operations: 2, magnitude: 9), .rotation(degrees: 15),
                                        .affine(degrees: 10, translate: 0.1, scale: 0.9...1.1, shear: 5), .trivialAugment,
                                        .horizontalFlip(probability: 0.5)])
        XCTAssertEqual(try AugmentationPipeline(parsing: pipeline.description), pipeline)
        XCTAssertEqual(try AugmentationPipeline(parsing: "randaugment").steps, [.randAugment(operations: 2, magnitude: 9)])
        XCTAssertEqual(try AugmentationPipeline(parsing: "affine:20").steps, [.affine(degrees: 20, translate: 0, scale: 1...1, shear: 0)])
        XCTAssertNoThrow(try pipeline.validate(imageShape: [3, 8, 8]))
        XCTAssertNoThrow(try pipeline.validate(imageShape: [1, 8, 8]))
        XCTAssertThrowsError(try pipeline.validate(imageShape: [2, 8, 8])) {
            XCTAssertEqual(($0 as? NablaError)?.message, "augmentation 'randaugment:2:9': needs greyscale or RGB images (1 or 3 channels), the data has 2")
        }
        let cases = [
            ("randaugment:2:31", "augmentation 'randaugment:2:31': magnitude 31 is out of range [0.0, 30.0]"),
            ("randaugment:1.5", "augmentation 'randaugment:1.5': the operation count and magnitude must be integers"),
            ("trivialaugment:3", "augmentation 'trivialaugment:3': too many values (at most 0)"),
            ("rotate", "augmentation 'rotate': missing degrees"),
            ("rotate:-5", "augmentation 'rotate:-5': degrees -5 is out of range [0.0, 360.0]"),
            ("affine:10:0.1:0.9", "augmentation 'affine:10:0.1:0.9': give both scale bounds"),
            ("affine:10:0:1.2:1.1", "augmentation 'affine:10:0:1.2:1.1': maximum scale 1.1 is out of range [1.2, 1000000.0]"),
            ("normalize:0.5:0.5,randaugment", "augmentation 'normalize:0.5:0.5,randaugment': 'randaugment' must come before 'normalize'"),
            (",9", "augmentation ':9': unknown name '' (known: crop, flip, hflip, vflip, jitter, translate, rrc, erase, normalize, rotate, affine, randaugment, trivialaugment)"),
        ]
        for (spec, message) in cases {
            XCTAssertThrowsError(try AugmentationPipeline(parsing: spec), spec) { XCTAssertEqual(($0 as? NablaError)?.message, message, spec) }
        }
    }
}
