import VAEKit

/// The splits of an image data set as `ImageSet`s (the tests look at their bytes).
extension Dataset {
    var trainImages: ImageSet { train as! ImageSet }
    var testImages: ImageSet { test as! ImageSet }
}

extension DataSource {
    var asImages: ImageSet { self as! ImageSet }
}
