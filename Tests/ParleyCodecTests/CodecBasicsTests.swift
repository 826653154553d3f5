import NIOCore
import ParleyCodec
import Testing

@Suite struct CodecBasicsTests {
    @Test func decodesSendWithContentLengthAndHeartBeats() throws {
        var buffer = ByteBuffer(string: "\n\r\nSEND\r\ndestination:/q\ncontent-length:3\n\na\0b\0")
        var decoder = StompDecoder()
        #expect(try decoder.next(from: &buffer) == .heartBeat)
        #expect(try decoder.next(from: &buffer) == .heartBeat)
        let decoded = try decoder.next(from: &buffer)
        var body = ByteBuffer(string: "a")
        body.writeInteger(UInt8(0))
        body.writeString("b")
        let expected = StompFrame(.send, headers: ["destination": "/q", "content-length": "3"], body: body)
        #expect(decoded == .frame(expected))
        #expect(buffer.readableBytes == 0)
        #expect(try decoder.next(from: &buffer) == nil)
    }
}
