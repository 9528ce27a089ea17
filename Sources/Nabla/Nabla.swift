// The umbrella module: `import Nabla` brings in every library target, so an application needs one
// import. A library that builds on Nabla can instead import only the targets it uses (for example
// `NablaTensor` and `NablaNN` for a new layer); see the package manifest for the target graph.
@_exported import NablaTensor
@_exported import NablaIO
@_exported import NablaNN
@_exported import NablaOptim
@_exported import NablaData
@_exported import NablaDistributed
@_exported import NablaTraining
@_exported import NablaStudies
