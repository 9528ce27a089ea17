/// The version of Nabla — the one constant that `nabla --version`, `nabla bench` and the reports
/// print. Semantic versioning (https://semver.org): the public API of the library targets and the
/// command line's flags and output lines are what a minor version keeps compatible.
public enum NablaVersion {
    /// `MAJOR.MINOR.PATCH`.
    public static let current = "0.9.0"
}
