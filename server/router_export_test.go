package server

// MinIndexedRoutes and Indexed let the router's external tests make sure
// they exercise the index.
const MinIndexedRoutes = minIndexedRoutes

// Indexed reports whether r looks routes up in an index.
func (r *Router) Indexed() bool { return r.index != nil }
