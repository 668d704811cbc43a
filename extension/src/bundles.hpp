// Bundles (bill of materials): which SKUs take part in one, and order lines
// of bundles turned into lines of their components.
#pragma once

#include "order.hpp"
#include "pg.hpp"

namespace stocksync {

// Whether sku is a component of any bundle (a row of stocksync.bom names it).
bool IsBundleComponent(Datum sku);

// The same without running SQL, for the reservation fast path, which runs as
// its caller (definer.hpp): true also where stocksync's tables changed shape
// meanwhile, which sends the call to the general path.
bool MayBeBundleComponent(Datum sku);

// After a write of sku's stock that fired no trigger (the reservation fast
// path, a bucket claim), which the caller decided on when the component
// cache was at `components_seen` (ComponentCacheGeneration()): raises sku's
// bundles' versions if a bill-of-materials row committed since made it a
// component (bundles.cpp).
uint64 ComponentCacheGeneration();
void CascadeAfterDirectWrite(Datum sku, uint64 components_seen);

// Replaces each line whose SKU is a bundle with a bill of materials by one
// line per simple component (qty times the units per bundle, nested bundles
// resolved), at the line's location. Returns the lines (the same array when
// none is a bundle) and sets *count; the caller normalizes. A component line
// of more units than an integer holds raises SS004, or, given `too_large`,
// returns nullptr with the bundle's sku there.
OrderLine *ExpandBundleLines(OrderLine *lines, int *count, Datum *too_large = nullptr);

}  // namespace stocksync
