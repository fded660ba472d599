// libFuzzer entry point for sluice's parsers (built by `make fuzz`, never by `swift build`):
// SLUICE_FUZZ_TARGET names the parser fed with each input. Every target must end in a value
// or an error for any bytes: a trap, a hang or a sanitizer report is a finding.
import SluiceCore
import SluiceSys

// libFuzzer calls the entry point from one thread only (no -fork/-jobs here).
nonisolated(unsafe) var target: FuzzTarget? = nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if target == nil { target = FuzzTarget.fromEnvironment() }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    target?.run(bytes)
    return 0
}

/// SwiftPM links an executable's entry point under this name; libFuzzer's driver runs there.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ body: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("SluiceFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return runDriver(&argc, &argv) { data, size in fuzz(data, size) }
}
