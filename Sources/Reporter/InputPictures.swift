import ArrayIO

/// Draws input samples as small PNG pictures when they are image-shaped.
///
/// A sample is image-shaped when its shape is [H, W], [1, H, W] (grayscale) or [3, H, W] (RGB,
/// channels first), with H, W ≥ 2. Values are scaled linearly from the set's minimum (black) to
/// its maximum (white).
struct InputPictures {
  private let values: [Float]
  private let height: Int
  private let width: Int
  private let channels: Int
  private let low: Float
  private let high: Float

  /// nil when `inputs` ([count, …]) does not hold image-shaped samples.
  init?(_ inputs: NPYArray) {
    let sample = Array(inputs.shape.dropFirst())
    switch sample.count {
    case 2: (channels, height, width) = (1, sample[0], sample[1])
    case 3 where sample[0] == 1 || sample[0] == 3: (channels, height, width) = (sample[0], sample[1], sample[2])
    default: return nil
    }
    guard height >= 2, width >= 2, inputs.shape.first ?? 0 >= 1 else { return nil }
    values = inputs.float32Values()
    low = values.min() ?? 0
    high = values.max() ?? 1
  }

  /// Number of samples.
  var count: Int { values.count / (channels * height * width) }

  /// An `<img>` element showing sample `index`, `size` pixels wide, with `alt` text.
  func img(_ index: Int, size: Int, alt: String) -> String {
    let plane = height * width
    let base = index * channels * plane
    let scale = high > low ? 255 / (high - low) : 0
    var pixels = [UInt8](repeating: 0, count: plane * channels)
    for p in 0..<plane {
      for c in 0..<channels {
        let value = (values[base + c * plane + p] - low) * scale
        pixels[p * channels + c] = UInt8(max(0, min(255, value.rounded())))
      }
    }
    let uri = PNGImage(width: width, height: height, channels: channels, pixels: pixels).dataURI()
    let shown = max(1, size * height / max(width, 1))
    return #"<img class="px" src="\#(uri)" width="\#(size)" height="\#(shown)" alt="\#(escape(alt))">"#
  }
}
