package wazeroengine

const mapNoReserve = 0
