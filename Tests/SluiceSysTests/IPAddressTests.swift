import Testing
@testable import SluiceSys

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("::", "::"), ("::1", "::1"), ("fe80::1:2", "fe80::1:2"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("::ffff:1.2.3.4", "::ffff:102:304"), ("1::", "1::"),
    ])
    func parsesAndFormats(_ text: String, _ formatted: String) {
        #expect(IPAddress(text)?.description == formatted)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "a.b.c.d", "1::2::3", ":::", "1:2:3:4:5:6:7:8:9",
        "12345::", "1:2:3:4:5:6:7", "g::1", "01.2.3.4444",
    ])
    func rejects(_ text: String) {
        #expect(IPAddress(text) == nil)
    }
}
