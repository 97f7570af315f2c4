/// One tile of a kernel: a block of rows × columns, named by its grid position.
public struct TileIndex: Sendable, Hashable, Codable, CustomStringConvertible {
  public var row: Int
  public var column: Int
  public init(row: Int, column: Int) {
    self.row = row
    self.column = column
  }
  /// "ROW,COL", as `--tile` takes it.
  public var description: String { "\(row),\(column)" }
  /// The file stem of the tile in `tiles/`.
  public var fileStem: String { "tile-\(row)-\(column)" }
}

/// How a kernel of `rows` × `columns` samples is cut into tiles.
///
/// Tiles hold at most `tileRows` × `tileColumns` samples. A symmetric (train × train) kernel has a square grid and only its tiles
/// on or above the diagonal are computed; merging mirrors the rest.
public struct TileGrid: Sendable, Equatable, Codable {
  public var rows: Int
  public var columns: Int
  public var tileRows: Int
  public var tileColumns: Int
  public var symmetric: Bool

  /// The most tiles a grid may have: a plan lists every tile, and a merge checks each one.
  public static let maximumTiles = 1 << 24

  public init(rows: Int, columns: Int, tileRows: Int, tileColumns: Int, symmetric: Bool) {
    precondition(rows >= 1 && columns >= 1 && tileRows >= 1 && tileColumns >= 1)
    precondition(!symmetric || (rows == columns && tileRows == tileColumns))
    self.rows = rows
    self.columns = columns
    self.tileRows = min(tileRows, rows)
    self.tileColumns = min(tileColumns, columns)
    self.symmetric = symmetric
  }

  public var rowTiles: Int { (rows + tileRows - 1) / tileRows }
  public var columnTiles: Int { (columns + tileColumns - 1) / tileColumns }

  /// The tiles that are computed, row by row (the order `--tile` indices and job arrays use).
  public var tiles: [TileIndex] {
    (0..<rowTiles).flatMap { row in ((symmetric ? row : 0)..<columnTiles).map { TileIndex(row: row, column: $0) } }
  }

  public func contains(_ tile: TileIndex) -> Bool {
    (0..<rowTiles).contains(tile.row) && (0..<columnTiles).contains(tile.column)
      && (!symmetric || tile.row <= tile.column)
  }

  public func rowRange(_ tile: TileIndex) -> Range<Int> { tile.row * tileRows..<min(rows, (tile.row + 1) * tileRows) }
  public func columnRange(_ tile: TileIndex) -> Range<Int> {
    tile.column * tileColumns..<min(columns, (tile.column + 1) * tileColumns)
  }
}
