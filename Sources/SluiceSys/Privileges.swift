// Dropping root after the listeners are bound: supplementary groups, then gid, then uid,
// and a check that root cannot be regained.
import Glibc

package struct PrivilegeError: Error, CustomStringConvertible {
    package var description: String
}

/// The uid and gid to run as (`user` gives both, `group` overrides the gid).
package struct PrivilegeTarget: Sendable {
    package var uid: UInt32?
    package var gid: UInt32?
}

package enum Privileges {
    /// Resolves `user`/`group` (nil when neither is set). Call before threads start:
    /// getpwnam is not thread-safe.
    package static func lookup(user: String?, group: String?) throws(PrivilegeError) -> PrivilegeTarget? {
        guard user != nil || group != nil else { return nil }
        var target = PrivilegeTarget()
        if let user {
            guard let entry = getpwnam(user) else { throw PrivilegeError(description: "user '\(user)' does not exist") }
            target.uid = entry.pointee.pw_uid
            target.gid = entry.pointee.pw_gid
        }
        if let group {
            guard let entry = getgrnam(group) else {
                throw PrivilegeError(description: "group '\(group)' does not exist")
            }
            target.gid = entry.pointee.gr_gid
        }
        return target
    }

    /// Switches to `target`: supplementary groups, gid, then uid. A no-op when not root.
    package static func drop(to target: PrivilegeTarget?) throws(PrivilegeError) {
        guard let target, getuid() == 0 || geteuid() == 0 else { return }
        if let gid = target.gid {
            var groups = [gid]
            guard setgroups(1, &groups) == 0 else { throw PrivilegeError(description: "setgroups: \(Errno.current)") }
            guard setgid(gid) == 0 else { throw PrivilegeError(description: "setgid(\(gid)): \(Errno.current)") }
        }
        if let uid = target.uid {
            guard setuid(uid) == 0 else { throw PrivilegeError(description: "setuid(\(uid)): \(Errno.current)") }
            if uid != 0 && setuid(0) == 0 {
                throw PrivilegeError(description: "root could be regained after dropping to uid \(uid)")
            }
        }
    }
}
