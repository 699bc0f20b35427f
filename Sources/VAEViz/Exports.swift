// PNG encoding and decoding live in VAEImageIO (shared with VAEKit's image-folder loader);
// `import VAEViz` keeps giving `PNG` as before.
@_exported import VAEImageIO
