import Foundation
import Testing

@testable import ArrayIO

@Test func probe() {
  print("ARGV0", CommandLine.arguments, URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, Bundle.main.bundlePath, FileManager.default.currentDirectoryPath)
}
