#!/usr/bin/env python3
"""Trains the text example's tiny BERT classifier and writes everything examples/text ships.

Reads examples/text/data/{train,test}.tsv (tools/make_text_data.py) and writes, into
examples/text:
  vocab.txt              the word-level vocabulary, one token per line, id = line number
                         (0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], then the training words, most
                         frequent first); built from the training sentences only
  train.npz, test.npz    input_ids and attention_mask, int64 [N, 24]: [CLS] words [SEP], padded
                         with [PAD] (mask 0); uncompressed, array names = the model's input names
  train_labels.npy       int64 [N]: the labels trained on (with the data's deliberate noise)
  test_labels.npy        int64 [M]
  train.txt, test.txt    the sentences, one per line, in the same order (for --train-text/--test-text)
  test_logits.npy        float32 [M, 2]: torch's logits of the test sentences, which the exported
                         model must reproduce (the example's end-to-end test compares entk's with them)
  model.onnx             transformers' BertForSequenceClassification (hidden 32, 2 layers, 2 heads,
                         intermediate 64, 24 positions, 2 classes), exported with the TorchScript-based
                         exporter (dynamo=False, opset 17, dynamic batch axis, constant folding off so
                         every parameter stays an initializer); inputs input_ids and attention_mask
                         (int64 [batch, 24]), output logits (float32 [batch, 2])

Deterministic (seed 0, deterministic algorithms, CPU). Checks the exported model with ONNX
Runtime against torch on every test sentence (max |difference| of logits below 1e-4) and fails
if the test accuracy is below 90%. Needs torch, transformers, onnx and onnxruntime (a venv from
tools/bench/venv.sh); never needed by the build, the tests or CI.

Usage: tools/train_text_classifier.py [EXAMPLE_DIR]   (default examples/text)
"""
import collections
import pathlib
import re
import sys
import warnings

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

SEED = 0
MAX_LENGTH = 24
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
PAD, UNK, CLS, SEP = range(4)
WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


def read_tsv(path):
    """(labels, sentences) of a data file: label, rule_label, sentence with one header line."""
    labels, sentences = [], []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            label, _, sentence = line.rstrip("\n").split("\t")
            labels.append(int(label))
            sentences.append(sentence)
    return np.array(labels, dtype=np.int64), sentences


def words(sentence):
    return WORD.findall(sentence.lower())


def build_vocabulary(sentences):
    counts = collections.Counter(word for sentence in sentences for word in words(sentence))
    ordered = sorted(counts, key=lambda word: (-counts[word], word))
    return SPECIAL_TOKENS + ordered


def encode(sentences, vocabulary):
    """input_ids and attention_mask, int64 [N, MAX_LENGTH]."""
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = np.full((len(sentences), MAX_LENGTH), PAD, dtype=np.int64)
    mask = np.zeros((len(sentences), MAX_LENGTH), dtype=np.int64)
    for row, sentence in enumerate(sentences):
        tokens = [CLS] + [index.get(word, UNK) for word in words(sentence)] + [SEP]
        if len(tokens) > MAX_LENGTH:
            raise SystemExit(f"sentence {row} has {len(tokens)} tokens, more than {MAX_LENGTH}: {sentence}")
        ids[row, :len(tokens)] = tokens
        mask[row, :len(tokens)] = 1
    return ids, mask


class Logits(nn.Module):
    """The classifier with the inputs a user's export has and logits as its only output."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def train(model, ids, mask, labels):
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(30):
        model.train()
        order = torch.randperm(len(ids), generator=generator)
        total = 0.0
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            optimizer.zero_grad()
            logits = model(input_ids=ids[batch], attention_mask=mask[batch]).logits
            loss = nn.functional.cross_entropy(logits, labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: loss {total / len(ids):.4f}", file=sys.stderr)


def accuracy(model, ids, mask, labels):
    model.eval()
    with torch.no_grad():
        return (model(input_ids=ids, attention_mask=mask).logits.argmax(1) == labels).float().mean().item()


def main():
    warnings.filterwarnings("ignore")
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1] / "examples" / "text")
    train_labels, train_sentences = read_tsv(out / "data" / "train.tsv")
    test_labels, test_sentences = read_tsv(out / "data" / "test.tsv")
    vocabulary = build_vocabulary(train_sentences)
    train_ids, train_mask = encode(train_sentences, vocabulary)
    test_ids, test_mask = encode(test_sentences, vocabulary)

    config = BertConfig(
        vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=MAX_LENGTH, type_vocab_size=1, num_labels=2,
        pad_token_id=PAD)
    config._attn_implementation = "eager"  # plain MatMul/Softmax attention, as most exports have
    model = BertForSequenceClassification(config)
    tensors = [torch.from_numpy(a) for a in (train_ids, train_mask, train_labels, test_ids, test_mask, test_labels)]
    train(model, *tensors[:3])
    train_accuracy = accuracy(model, *tensors[:3])
    test_accuracy = accuracy(model, *tensors[3:])
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{parameters} parameters, vocabulary {len(vocabulary)}; train accuracy {train_accuracy:.4f} "
          f"(on the noisy labels), test accuracy {test_accuracy:.4f} ({len(test_labels)} sentences)")
    if test_accuracy < 0.9:
        raise SystemExit("test accuracy below 90%")

    wrapped = Logits(model).eval()
    path = out / "model.onnx"
    torch.onnx.export(
        wrapped, (tensors[3][:2], tensors[4][:2]), str(path), dynamo=False, opset_version=17,
        input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch"}, "attention_mask": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=False)
    onnx.checker.check_model(onnx.load(str(path)))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = session.run(["logits"], {"input_ids": test_ids, "attention_mask": test_mask})[0]
    with torch.no_grad():
        reference = wrapped(tensors[3], tensors[4]).numpy()
    difference = float(np.abs(exported - reference).max())
    print(f"wrote {path} ({path.stat().st_size} bytes); ONNX Runtime vs torch on {len(test_ids)} test "
          f"sentences: max |difference| {difference:.2e}")
    if difference > 1e-4:
        raise SystemExit("the exported model does not reproduce torch's logits")

    np.save(out / "test_logits.npy", reference.astype(np.float32))
    with open(out / "vocab.txt", "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in vocabulary))
    for name, ids, mask, labels, sentences in [
            ("train", train_ids, train_mask, train_labels, train_sentences),
            ("test", test_ids, test_mask, test_labels, test_sentences)]:
        np.savez(out / f"{name}.npz", input_ids=ids, attention_mask=mask)
        np.save(out / f"{name}_labels.npy", labels)
        with open(out / f"{name}.txt", "w", encoding="utf-8") as f:
            f.write("".join(sentence + "\n" for sentence in sentences))


if __name__ == "__main__":
    main()
