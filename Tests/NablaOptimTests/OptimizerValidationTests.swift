import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Every invalid hyper-parameter throws a NablaError whose one-line message echoes the bad value
/// (PyTorch's wording), and misconfigured groups are rejected.
final class OptimizerValidationTests: XCTestCase {
    let p = Variable(Tensor<Double>([1, 2]), requiresGradient: true)

    func assertThrows(_ message: String, _ make: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try make(), message, file: file, line: line) { error in
            XCTAssertEqual((error as? NablaError)?.message, message, file: file, line: line)
            XCTAssertEqual((error as? NablaError)?.kind, .invalidArgument, file: file, line: line)
        }
    }

    func testSGD() {
        assertThrows("Invalid learning rate: -0.1") { try SGD([p], learningRate: -0.1) }
        assertThrows("Invalid learning rate: nan") { try SGD([p], learningRate: .nan) }
        assertThrows("Invalid momentum value: -0.5") { try SGD([p], momentum: -0.5) }
        assertThrows("Invalid weight_decay value: -0.01") { try SGD([p], weightDecay: -0.01) }
        assertThrows("Invalid dampening value: inf") { try SGD([p], momentum: 0.9, dampening: .infinity) }
        assertThrows("Nesterov momentum requires a momentum and zero dampening, got momentum 0.0 and dampening 0.0") {
            try SGD([p], nesterov: true)
        }
        assertThrows("Nesterov momentum requires a momentum and zero dampening, got momentum 0.9 and dampening 0.1") {
            try SGD([p], momentum: 0.9, dampening: 0.1, nesterov: true)
        }
    }

    func testAdagrad() {
        assertThrows("Invalid learning rate: -1.0") { try Adagrad([p], learningRate: -1) }
        assertThrows("Invalid lr_decay value: -0.1") { try Adagrad([p], learningRateDecay: -0.1) }
        assertThrows("Invalid weight_decay value: -2.0") { try Adagrad([p], weightDecay: -2) }
        assertThrows("Invalid initial_accumulator_value value: -0.5") { try Adagrad([p], initialAccumulatorValue: -0.5) }
        assertThrows("Invalid epsilon value: -1e-10") { try Adagrad([p], epsilon: -1e-10) }
    }

    func testRMSprop() {
        assertThrows("Invalid learning rate: -0.01") { try RMSprop([p], learningRate: -0.01) }
        assertThrows("Invalid epsilon value: -1e-08") { try RMSprop([p], epsilon: -1e-8) }
        assertThrows("Invalid momentum value: -0.9") { try RMSprop([p], momentum: -0.9) }
        assertThrows("Invalid weight_decay value: -0.1") { try RMSprop([p], weightDecay: -0.1) }
        assertThrows("Invalid alpha value: -0.99") { try RMSprop([p], alpha: -0.99) }
    }

    func testAdamAndAdamW() {
        assertThrows("Invalid learning rate: -0.001") { try Adam([p], learningRate: -0.001) }
        assertThrows("Invalid epsilon value: -1e-08") { try Adam([p], epsilon: -1e-8) }
        assertThrows("Invalid beta parameter at index 0: 1.0") { try Adam([p], betas: (1.0, 0.999)) }
        assertThrows("Invalid beta parameter at index 0: -0.1") { try Adam([p], betas: (-0.1, 0.999)) }
        assertThrows("Invalid beta parameter at index 1: 1.5") { try Adam([p], betas: (0.9, 1.5)) }
        assertThrows("Invalid weight_decay value: -0.01") { try Adam([p], weightDecay: -0.01) }
        assertThrows("Invalid learning rate: -0.001") { try AdamW([p], learningRate: -0.001) }
        assertThrows("Invalid beta parameter at index 1: 1.0") { try AdamW([p], betas: (0.9, 1.0)) }
        assertThrows("Invalid weight_decay value: -0.01") { try AdamW([p], weightDecay: -0.01) }
        assertThrows("Invalid epsilon value: -1.0") { try AdamW([p], epsilon: -1) }
    }

    func testGroupsAreValidatedAndLocated() {
        let q = Variable(Tensor<Double>([3]), requiresGradient: true)
        assertThrows("Invalid learning rate: -0.5 (parameter group 1)") {
            try SGD([ParameterGroup([p]), ParameterGroup([q], learningRate: -0.5)], learningRate: 0.1)
        }
        assertThrows("Invalid beta parameter at index 0: 2.0 (parameter group 1)") {
            try Adam([ParameterGroup([p]), ParameterGroup([q], ["betas": .pair(2, 0.9)])])
        }
        assertThrows("SGD has no option 'betas'") { try SGD([ParameterGroup([p], ["betas": .pair(0.9, 0.99)])]) }
        assertThrows("AdamW has no option 'decoupled_weight_decay' (parameter group 1)") {
            try AdamW([ParameterGroup([p]), ParameterGroup([q], ["decoupled_weight_decay": false])])
        }
        assertThrows("Adagrad has no option 'momentum'") { try Adagrad([ParameterGroup([p], ["momentum": 0.9])]) }
        assertThrows("some parameters appear in more than one parameter group") {
            try RMSprop([ParameterGroup([p]), ParameterGroup([q, p])])
        }
        assertThrows("Adam got an empty parameter list") { try Adam([Variable<Double>]()) }
        assertThrows("SGD got an empty parameter list") { try SGD([ParameterGroup<Double>]()) }
        assertThrows("SGD can only optimize parameters that require a gradient") {
            try SGD([Variable(Tensor<Double>([1]))])
        }
    }
}
