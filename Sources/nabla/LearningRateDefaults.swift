import Nabla

/// The learning rate `nabla train` uses for each built-in optimizer when `--lr` is not given: a
/// value that trains every built-in model on Fashion-MNIST in a few epochs (checked by
/// `make readme-check` and the CLI tests). The library keeps `torch.optim`'s defaults
/// (``OptimizerRegistration/defaultLearningRate``), so code, plan files and golden trajectories stay
/// exactly PyTorch's; only the command line's default differs, and `--help` lists both. An optimizer
/// registered without an entry here trains at its library default.
enum LearningRateDefaults {
    struct Entry {
        let rate: Double
        /// Where the value comes from.
        let source: String
    }

    static let table: [String: Entry] = [
        // torch.optim.SGD's 1e-3 barely moves plain SGD in a few epochs (the built-in lenet-bn ends
        // its first Fashion-MNIST epoch at ~50%); 0.1 is the rate of the ResNet and ImageNet-in-an-hour recipes.
        "sgd": Entry(rate: 0.1, source: "He et al. 2016 and Goyal et al. 2017"),
        "adagrad": Entry(rate: 0.01, source: "Duchi et al. 2011, torch.optim's default"),
        // torch.optim.RMSprop's 1e-2 is ten times Keras's and Hinton's; it makes the built-ins unstable.
        "rmsprop": Entry(rate: 0.001, source: "Tieleman & Hinton 2012, Keras's default"),
        "adam": Entry(rate: 0.001, source: "Kingma & Ba 2015, torch.optim's default"),
        "adamw": Entry(rate: 0.001, source: "Loshchilov & Hutter 2019, torch.optim's default"),
        "adadelta": Entry(rate: 1.0, source: "Zeiler 2012, torch.optim's default"),
        "adamax": Entry(rate: 0.002, source: "Kingma & Ba 2015 §7.1, torch.optim's default"),
        "nadam": Entry(rate: 0.002, source: "Dozat 2016, torch.optim's default"),
        "radam": Entry(rate: 0.001, source: "Liu et al. 2020, torch.optim's default"),
        // Lion's update has the size of the learning rate in every coordinate; its paper takes 3–10×
        // less than AdamW's.
        "lion": Entry(rate: 0.0001, source: "Chen et al. 2023"),
        "lamb": Entry(rate: 0.001, source: "You et al. 2020"),
    ]

    /// `nabla train`'s learning rate for `optimizer` without `--lr`, or `nil` for the library's.
    static func rate(for optimizer: String) -> Double? { table[optimizer.lowercased()]?.rate }

    /// `--help`'s words on the default learning rate of `registration`.
    static func help(_ registration: OptimizerRegistration) -> String {
        guard let entry = table[registration.name] else { return "Default lr \(registration.defaultLearningRate)" }
        let library = entry.rate == registration.defaultLearningRate ? "" : "; the library's (torch.optim's) is \(registration.defaultLearningRate)"
        return "Default lr \(entry.rate) (\(entry.source))\(library)"
    }
}
