package wazeroengine

import "syscall"

// mapNoReserve keeps the reservation out of the kernel's commit accounting:
// only pages made accessible count.
const mapNoReserve = syscall.MAP_NORESERVE
