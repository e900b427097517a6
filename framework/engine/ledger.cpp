#include "framework/engine/ledger.hpp"

namespace defisim::engine {

Ledger::Ledger(std::size_t accounts, std::size_t assets, std::size_t markets)
    : accounts_(accounts),
      assets_(assets),
      markets_(markets),
      balances_(accounts * assets, 0.0),
      shares_(accounts * markets, 0.0),
      venue_(assets, 0.0) {}

}  // namespace defisim::engine
