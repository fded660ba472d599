// The admin socket and the metrics endpoint: bound from the configuration with the listeners
// (before privileges are dropped), served once the workers run, stopped (socket file
// removed) when sluice exits. The default socket's directory is created when missing.
import SluiceCore
import SluiceSys

struct OperatorServices {
    var admin: AdminServer?
    var metrics: MetricsServer?

    static func bind(config: Config, view: AdminView, owner: PrivilegeTarget?) throws(StartupError) -> OperatorServices
    {
        var services = OperatorServices()
        if let socket = config.global.adminSocket {
            var options = AdminServer.Options(path: socket.path)
            options.mode = socket.mode
            options.allowedUIDs = Set(config.global.adminAllowUIDs)
            if let owner, SystemInfo.uid == 0 {
                options.owner = (owner.uid ?? SystemInfo.uid, owner.gid ?? SystemInfo.gid)
            }
            let isDefault = socket.path == AdminSocketConfig.defaultPath
            let hint = " (set 'admin-socket PATH' or 'admin-socket none' in the global section)"
            try makeDefaultDirectory(socket.path, isDefault: isDefault, owner: options.owner, config: config)
            do {
                services.admin = try AdminServer(options, handler: view)
            } catch {
                let missing = Files.kind(Files.directory(of: socket.path)) == nil
                throw StartupError(
                    "\(config.file): admin-socket \(socket.path)\(isDefault ? " (the default)" : ""): \(error)"
                        + (missing ? "; the directory \(Files.directory(of: socket.path)) does not exist" : "")
                        + (isDefault || missing ? hint : ""))
            }
        }
        if let endpoint = config.global.metrics {
            do {
                services.metrics = try MetricsServer(endpoint: endpoint) { view.metrics() }
            } catch {
                services.stop()
                throw StartupError("\(config.file): metrics \(endpoint): cannot listen: \(error)")
            }
        }
        return services
    }

    /// Outside the systemd unit (whose RuntimeDirectory= makes /run/sluice) nothing creates
    /// the default socket's directory: make it, 0755 and owned by the user sluice runs as, so
    /// that user can remove the socket at exit. A configured path's directory is never made.
    private static func makeDefaultDirectory(
        _ path: String, isDefault: Bool, owner: (uid: UInt32, gid: UInt32)?, config: Config
    ) throws(StartupError) {
        let directory = Files.directory(of: path)
        guard isDefault, Files.kind(directory) == nil else { return }
        do {
            try Files.makeDirectory(directory, mode: 0o755, owner: owner)
        } catch {
            throw StartupError(
                "\(config.file): cannot create \(directory) for the default admin socket \(path): \(error)"
                    + "; create it, or set 'admin-socket PATH' or 'admin-socket none' in the global section")
        }
    }

    func start() {
        admin?.start()
        metrics?.start()
    }

    func stop() {
        admin?.stop()
        metrics?.stop()
    }
}
