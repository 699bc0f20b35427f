// `import VAEKit` is enough to use the library: tensors, random numbers, layers and optimizers
// come along.
@_exported import VAECore
