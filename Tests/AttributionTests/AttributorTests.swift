import EntkTestSupport
import Foundation
import Surrogate
import Testing

@testable import Attribution

@Test func contributionsPlusBiasAddUpToTheSurrogateLogits() throws {
  let problem = ToyProblem(trainCount: 45, testCount: 12, classCount: 3, seed: 11)
  let (model, _) = try KGLM.fit(rows: try problem.trainRows(), labels: problem.trainLabels, classCount: 3)
  let testRows = try problem.testRows()
  let logits = try model.logits(testRows)
  let attributor = try Attributor(model: model, trainLabels: problem.trainLabels)
  for row in 0..<testRows.count {
    let all = try attributor.contributions(testRows, row: row)
    let explanation = try attributor.explain(
      testRows, row: row, topK: 5, networkLogits: nil, label: problem.testLabels[row])
    for c in 0..<3 {
      let sum = all[(c * 45)..<((c + 1) * 45)].reduce(0, +)
      #expect(abs(sum + model.bias[c] - logits[row * 3 + c]) < 1e-9)
      #expect(abs(explanation.classes[c].logit - logits[row * 3 + c]) < 1e-9)
      #expect(explanation.classes[c].proponents.count <= 5)
      #expect(explanation.classes[c].proponents.allSatisfy { $0.score > 0 })
      #expect(explanation.classes[c].opponents.allSatisfy { $0.score < 0 })
      // Proponents are the largest contributions, in descending order.
      let scores = explanation.classes[c].proponents.map(\.score)
      #expect(scores == scores.sorted(by: >))
      let sortedAll = all[(c * 45)..<((c + 1) * 45)].sorted(by: >)
      #expect(scores.first == sortedAll.first)
      #expect(explanation.classes[c].opponents.first?.score == sortedAll.last)
      for p in explanation.classes[c].proponents { #expect(p.trainLabel == problem.trainLabels[p.trainIndex]) }
    }
    #expect(
      explanation.surrogatePrediction == ClassLabels.argmax(Array(logits[(row * 3)..<(row * 3 + 3)]), classCount: 3)[0])
  }
}

@Test func layerContributionsSplitEachLogitAcrossLayers() throws {
  // NFT-K: two "layers" whose kernels add up to the RBF kernel (a 30/70 split).
  let problem = ToyProblem(trainCount: 30, testCount: 6, classCount: 3, seed: 5)
  let train = ToyProblem.rbf(problem.trainX, problem.trainX)
  let test = ToyProblem.rbf(problem.testX, problem.trainX)
  let trainLayers = train.map { 0.3 * $0 } + train.map { 0.7 * $0 }
  let testLayers = test.map { 0.3 * $0 } + test.map { 0.7 * $0 }
  let trainRows = try KernelRows(layerKernels: trainLayers, layerCount: 2, count: 30, trainCount: 30)
  let testRows = try KernelRows(layerKernels: testLayers, layerCount: 2, count: 6, trainCount: 30)
  let (model, report) = try KGLM.fit(rows: trainRows, labels: problem.trainLabels, classCount: 3)
  #expect(report.converged)
  #expect(model.weights.count == 3 * 60)
  let logits = try model.logits(testRows)
  let attributor = try Attributor(model: model, trainLabels: nil)
  for row in 0..<6 {
    let explanation = try attributor.explain(testRows, row: row, topK: 3, networkLogits: [0, 1, 0], label: nil)
    #expect(explanation.networkPrediction == 1)
    for c in 0..<3 {
      let attribution = explanation.classes[c]
      #expect(attribution.layerContributions.count == 2)
      #expect(abs(attribution.layerContributions.reduce(0, +) - attribution.contributionSum) < 1e-9)
      #expect(abs(attribution.bias + attribution.contributionSum - logits[row * 3 + c]) < 1e-9)
      for p in attribution.proponents {
        let layers = try #require(p.layerScores)
        #expect(abs(layers.reduce(0, +) - p.score) < 1e-12)
      }
    }
  }
  #expect(throws: SurrogateError.self) { try model.logits(try problem.testRows()) }
}

@Test func extremesMatchAFullSortWithTiesToTheSmallerIndex() {
  let values: [Double] = [0.5, -1, 2, 2, 0, -1, 3, 0.5, -2, 2]
  #expect(Attributor.extremes(values, count: 4, by: >) == [6, 2, 3, 9])
  #expect(Attributor.extremes(values, count: 3, by: <) == [8, 1, 5])
  #expect(Attributor.extremes(values, count: 20, by: >) == [6, 2, 3, 9, 0, 7, 4, 1, 5, 8])
  #expect(Attributor.extremes([], count: 3, by: >).isEmpty)
}
