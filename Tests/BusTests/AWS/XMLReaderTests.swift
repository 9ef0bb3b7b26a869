import Testing

@testable import Bus

@Suite("XML reader")
struct XMLReaderTests {
    @Test("reads nested elements, entities, CDATA and self-closing tags; skips prolog and comments")
    func reads() throws {
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
              <PublishBatchResult>
                <Successful><member><Id>0</Id><MessageId>m-0</MessageId></member></Successful>
                <Failed>
                  <member><Id>1</Id><Code>InternalError</Code><Message>a &lt;b&gt; &quot;c&quot; &#233;&#x1F44B;</Message>
                  <SenderFault>false</SenderFault></member>
                </Failed>
                <Empty/>
                <Data><![CDATA[<raw> & text]]></Data>
              </PublishBatchResult>
            </PublishBatchResponse>
            """
        let root = try XMLReader.parse(Array(document.utf8))
        #expect(root.name == "PublishBatchResponse")
        let result = try #require(root.child("PublishBatchResult"))
        #expect(result.element("Successful", "member", "MessageId")?.text == "m-0")
        #expect(result.element("Failed", "member", "Message")?.text == "a <b> \"c\" é👋")
        #expect(result.child("Empty")?.text == "")
        #expect(result.child("Data")?.text == "<raw> & text")
        #expect(root.first(named: "SenderFault")?.text == "false")
    }

    @Test("Query maps become dictionaries; namespace prefixes are dropped")
    func maps() throws {
        let root = try XMLReader.parse(
            Array(
                "<a:R xmlns:a='x'><Attributes><entry><key>FifoTopic</key><value>true</value></entry><entry><key>Empty</key><value/></entry></Attributes></a:R>"
                    .utf8
            )
        )
        #expect(root.name == "R")
        #expect(root.child("Attributes")?.entries == ["FifoTopic": "true", "Empty": ""])
    }

    @Test("malformed documents throw", arguments: ["", "<a>", "<a></b>", "just text", "<a><b></a>"])
    func malformed(_ text: String) {
        #expect(throws: XMLReader.Malformed.self) { try XMLReader.parse(Array(text.utf8)) }
    }
}
