// The admin socket and the metrics endpoint: bound from the configuration with the listeners
// (before privileges are dropped), served once the workers run, stopped (socket file
// removed) when sluice exits.
import SluiceCore
import SluiceSys

struct OperatorServices {
    var admin: AdminServer?
    var metrics: MetricsServer?

    static func bind(config: Config, view: AdminView, owner: PrivilegeTarget?) throws(StartupError) -> OperatorServices {
        var services = OperatorServices()
        if let socket = config.global.adminSocket {
            var options = AdminServer.Options(path: socket.path)
            options.mode = socket.mode
            options.allowedUIDs = Set(config.global.adminAllowUIDs)
            if let owner, SystemInfo.uid == 0 { options.owner = (owner.uid ?? SystemInfo.uid, owner.gid ?? SystemInfo.gid) }
            do {
                services.admin = try AdminServer(options, handler: view)
            } catch {
                throw StartupError("\(config.file): admin-socket \(socket.path): \(error)")
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

    func start() {
        admin?.start()
        metrics?.start()
    }

    func stop() {
        admin?.stop()
        metrics?.stop()
    }
}
