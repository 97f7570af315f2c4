import Testing

@testable import Reporter

@Test func reportTextIsHTMLEscaped() {
  #expect(
    SampleTexts.html(#"<script>alert('x')</script> & "q" café"#)
      == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; café")
}

@Test func longTextsAreCutAfterTheShownCharactersWithAnEllipsis() {
  #expect(SampleTexts.html(String(repeating: "a", count: 300)) == String(repeating: "a", count: 300))
  #expect(SampleTexts.html(String(repeating: "é", count: 301)) == String(repeating: "é", count: 300) + "…")
  // The cut counts characters, before escaping: an escaped character is never split.
  #expect(SampleTexts.html(String(repeating: "<", count: 301)) == String(repeating: "&lt;", count: 300) + "…")
}

@Test func terminalTextShowsControlCharactersAsReplacements() {
  // ESC [2J clears a screen; a tab and a bell are controls too. Printable text is untouched.
  #expect(SampleTexts.terminal("a\u{1B}[2J\tb\u{07} café <b>") == "a\u{FFFD}[2J\u{FFFD}b\u{FFFD} café <b>")
}
