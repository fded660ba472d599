// Giving freed heap back to the kernel. glibc keeps freed memory in its arenas, and after a
// large block is freed it raises its mmap threshold, so the next multi-megabyte buffer (a
// metrics exposition) comes from an arena too and stays resident once freed. malloc_trim(0)
// returns the free pages of every arena.
import CSluiceLinux

package enum Memory {
    /// Costs a walk over the heap: call it after a burst of large buffers was freed, not per event.
    @inline(never)
    package static func releaseFreePages() {
        _ = sluice_malloc_trim()
    }
}
