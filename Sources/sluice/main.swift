import SluiceRuntime
print("sluice \(SluiceVersion.string)")
