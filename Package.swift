// swift-tools-version:6.0
// sluice: L4 TCP/UDP load balancer. The daemon and CLI use Glibc, Synchronization and the
// CSluiceLinux shim only; tests may use Foundation.
import PackageDescription

let package = Package(
    name: "sluice",
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluicectl", targets: ["sluicectl"]),
    ],
    targets: [
        .target(
            name: "CSluiceLinux",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "SluiceSys", dependencies: ["CSluiceLinux", "CSystemd"]),
        .target(name: "SluiceCore", dependencies: ["SluiceSys"]),
        .target(name: "SluiceRuntime", dependencies: ["SluiceCore", "SluiceSys"]),
        .executableTarget(name: "sluice", dependencies: ["SluiceRuntime", "SluiceCore", "SluiceSys"]),
        .executableTarget(name: "sluicectl", dependencies: ["SluiceSys"]),
        .target(name: "SluiceTestSupport", dependencies: ["SluiceSys"], path: "Tests/SluiceTestSupport"),
        .testTarget(name: "SluiceSysTests", dependencies: ["SluiceSys", "SluiceTestSupport"]),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "SluiceSys", "SluiceTestSupport"]),
        .testTarget(
            name: "SluiceRuntimeTests", dependencies: ["SluiceRuntime", "SluiceCore", "SluiceSys", "SluiceTestSupport"]),
        .testTarget(name: "E2ETests", dependencies: ["sluice", "SluiceTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// `make fuzz` only: a libFuzzer binary over the parsers (needs -sanitize=fuzzer on every target).
if Context.environment["SLUICE_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "SluiceFuzz", dependencies: ["SluiceCore", "SluiceSys", "SluiceRuntime", "SluiceTestSupport"],
            path: "Tests/Fuzz",
            exclude: ["corpus"]
        ))
    package.products.append(.executable(name: "sluice-fuzz", targets: ["SluiceFuzz"]))
}
