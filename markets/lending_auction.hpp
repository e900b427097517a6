#pragma once
// Maker's Dutch-auction price curves (abaci.sol) and clip.sol's test for an
// auction that needs a reset (Clipper.status: `done`). Pure functions of
// the auction's parameters, its starting price `top` and the seconds since
// its round started; markets/README.md ("lending", "Maker auctions").
#include "markets/lending.hpp"

namespace defisim::markets {

// Debt tokens per collateral token `elapsed_seconds` into a round that
// started at `top` (negative elapsed counts as 0):
//   linear                 top x (tau - elapsed) / tau, 0 from tau on  (LinearDecrease)
//   stairstep_exponential  top x cut ^ floor(elapsed / step)            (StairstepExponentialDecrease)
//   exponential            top x cut ^ elapsed                          (ExponentialDecrease)
double auction_curve_price(const AuctionParams& auction, double top, double elapsed_seconds);

// clip.sol: done = elapsed > tail || price / top < cusp. Also done when the
// price has reached 0 (linear after tau with cusp = 0): clip would then give
// the lot away for nothing; here such an auction needs a reset too.
bool auction_curve_stale(const AuctionParams& auction, double top, double elapsed_seconds);

}  // namespace defisim::markets
