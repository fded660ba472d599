// Dropping root after the listeners are bound: supplementary groups, then gid, then uid,
// and a check that root cannot be regained.
import Glibc

package struct PrivilegeError: Error, CustomStringConvertible {
    package var description: String
}

package enum Privileges {
    /// Switches to `user` (and its primary group unless `group` is given). A no-op when not root.
    package static func drop(user: String?, group: String?) throws(PrivilegeError) {
        guard getuid() == 0 || geteuid() == 0, user != nil || group != nil else { return }
        var uid: uid_t? = nil
        var gid: gid_t? = nil
        if let user {
            guard let entry = getpwnam(user) else { throw PrivilegeError(description: "user '\(user)' does not exist") }
            uid = entry.pointee.pw_uid
            gid = entry.pointee.pw_gid
        }
        if let group {
            guard let entry = getgrnam(group) else { throw PrivilegeError(description: "group '\(group)' does not exist") }
            gid = entry.pointee.gr_gid
        }
        if let gid {
            var groups = [gid]
            guard setgroups(1, &groups) == 0 else { throw PrivilegeError(description: "setgroups: \(Errno.current)") }
            guard setgid(gid) == 0 else { throw PrivilegeError(description: "setgid(\(gid)): \(Errno.current)") }
        }
        if let uid {
            guard setuid(uid) == 0 else { throw PrivilegeError(description: "setuid(\(uid)): \(Errno.current)") }
            if uid != 0 && setuid(0) == 0 {
                throw PrivilegeError(description: "root could be regained after dropping to uid \(uid)")
            }
        }
    }
}
