//go:build darwin || freebsd

package wazeroengine

const mapNoReserve = 0
