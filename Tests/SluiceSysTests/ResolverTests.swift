// Resolver.lookup against the machine's real resolver: a literal needs no lookup, and a name
// that cannot exist (.invalid, RFC 2606) fails with the resolver's own words, whatever they are
// here ("Name or service not known", or "Temporary failure..." without a name server).
import SluiceSys
import Testing

@Suite struct ResolverTests {
    @Test func aLiteralIsItsOwnAddress() throws {
        #expect(try Resolver.lookup("127.0.0.7").get() == IPAddress("127.0.0.7"))
        #expect(try Resolver.lookup("::1").get() == IPAddress("::1"))
    }

    @Test func localhostResolves() {
        #expect(Resolver.resolve("localhost") != nil)
    }

    @Test func anImpossibleNameFailsWithAReason() {
        guard case .failure(let failure) = Resolver.lookup("no-such-host.sluice.invalid") else {
            Issue.record("a .invalid name resolved")
            return
        }
        #expect(!failure.reason.isEmpty && failure.reason != "no address", "\(failure)")
    }
}
