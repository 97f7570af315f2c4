/// `texts.json`: the texts of the samples (sentences, documents), shown in the report where
/// pictures would be; given with `--train-text` and `--test-text`, one line per sample.
///
/// Schema: `schemas/texts.schema.json`.
public struct SampleTexts: Sendable, Codable, Equatable {
  /// One text per training point, in the kernel's order ([N]); absent when not given.
  public var train: [String]?
  /// One text per test point ([M]); absent when not given.
  public var test: [String]?

  public init(train: [String]?, test: [String]?) {
    self.train = train
    self.test = test
  }

  /// How many characters of a text the report shows (the bundle keeps them all), so that a
  /// document-length sample does not make the page unreadable.
  static let shownCharacters = 300

  /// `text` for a terminal: control characters (which could move the cursor or recolour the
  /// screen) are shown as U+FFFD.
  public static func terminal(_ text: String) -> String {
    String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\u{FFFD}" : $0 }))
  }

  /// `text` as report HTML: escaped, and cut after `shownCharacters` with an ellipsis.
  static func html(_ text: String) -> String {
    text.count > shownCharacters ? escape(String(text.prefix(shownCharacters))) + "…" : escape(text)
  }
}
