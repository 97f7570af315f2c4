/// The version printed by `entk --version` and recorded in bundles.
public enum EntkVersion {
  public static let current = "0.1.0"
}
