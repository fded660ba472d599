// The only sockaddr code: IPEndpoint <-> sockaddr_in/sockaddr_in6, and getaddrinfo.
import CSluiceLinux
import Glibc

package struct SocketAddress: Sendable {
    package var storage: sockaddr_storage
    package var length: socklen_t

    package init() {
        storage = sockaddr_storage()
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    }

    package init(_ endpoint: IPEndpoint) {
        self.init()
        switch endpoint.address {
        case .v4(let v):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = endpoint.port.bigEndian
            sin.sin_addr.s_addr = v.bigEndian
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: &sin) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6(let hi, let lo):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                raw.storeBytes(of: hi.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: lo.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: &sin6) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    package var family: CInt { CInt(storage.ss_family) }

    /// nil for families other than IPv4/IPv6 (e.g. AF_UNIX).
    package var endpoint: IPEndpoint? {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw -> IPEndpoint? in
            switch CInt(storage.ss_family) {
            case AF_INET:
                let sin = raw.loadUnaligned(as: sockaddr_in.self)
                return IPEndpoint(.v4(UInt32(bigEndian: sin.sin_addr.s_addr)), UInt16(bigEndian: sin.sin_port))
            case AF_INET6:
                let sin6 = raw.loadUnaligned(as: sockaddr_in6.self)
                let (hi, lo) = withUnsafeBytes(of: sin6.sin6_addr) {
                    (
                        UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                        UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                    )
                }
                return IPEndpoint(.v6(hi, lo), UInt16(bigEndian: sin6.sin6_port))
            default:
                return nil
            }
        }
    }

    package func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// Why a host name did not resolve, as the resolver put it ("Name or service not known"): the
/// operator must tell a typo from a name server that is down.
package struct ResolveFailure: Error, Sendable, Equatable {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
}

package enum Resolver {
    /// The first address of `host` (IPv4 preferred, as most backends listen there), or nil.
    package static func resolve(_ host: String) -> IPAddress? {
        try? lookup(host).get()
    }

    /// As `resolve`, with the resolver's reason when there is no address.
    package static func lookup(_ host: String) -> Result<IPAddress, ResolveFailure> {
        if let literal = IPAddress(host) { return .success(literal) }
        var hints = addrinfo()
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0, let first = list else {
            if rc == EAI_SYSTEM { return .failure(ResolveFailure(Errno.current.description)) }
            return .failure(ResolveFailure(rc == 0 ? "no address" : String(cString: gai_strerror(rc))))
        }
        defer { freeaddrinfo(first) }
        var found: IPAddress?
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            var address = SocketAddress()
            withUnsafeMutableBytes(of: &address.storage) { dst in
                dst.copyMemory(
                    from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
            }
            if let endpoint = address.endpoint {
                if case .v4 = endpoint.address { return .success(endpoint.address) }
                if found == nil { found = endpoint.address }
            }
            cursor = ai.pointee.ai_next
        }
        return found.map { .success($0) } ?? .failure(ResolveFailure("no IPv4 or IPv6 address"))
    }
}
