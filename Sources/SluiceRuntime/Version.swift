// The version string shown by `sluice --version` and `show info`.
package enum SluiceVersion {
    package static let string = "0.1.0"
}
