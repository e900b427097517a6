#include "markets/lending_auction.hpp"

#include <algorithm>
#include <cmath>

namespace defisim::markets {

double auction_curve_price(const AuctionParams& auction, double top, double elapsed_seconds) {
  const double elapsed = std::max(elapsed_seconds, 0.0);
  switch (auction.decay) {
    case AuctionDecay::linear:
      // abaci.sol LinearDecrease.price: dur >= tau ? 0 : top * (tau - dur) / tau.
      if (elapsed >= auction.tau_seconds) return 0.0;
      return top * ((auction.tau_seconds - elapsed) / auction.tau_seconds);
    case AuctionDecay::stairstep_exponential:
      // StairstepExponentialDecrease.price: top * cut ^ (dur / step), integer division.
      return top * std::pow(auction.cut, std::floor(elapsed / auction.step_seconds));
    case AuctionDecay::exponential:
      // ExponentialDecrease.price: top * cut ^ dur.
      return top * std::pow(auction.cut, elapsed);
  }
  return 0.0;
}

bool auction_curve_stale(const AuctionParams& auction, double top, double elapsed_seconds) {
  if (elapsed_seconds > auction.tail_seconds) return true;
  const double price = auction_curve_price(auction, top, elapsed_seconds);
  return !(price > 0.0) || price / top < auction.cusp;
}

}  // namespace defisim::markets
