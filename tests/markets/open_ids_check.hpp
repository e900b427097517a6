#pragma once
// Checks a mechanism's list of open positions (markets/open_ids.hpp) against
// brute force over every position ever opened: each listed id is open and
// listed once, and every open position is listed.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace defisim::markets::test {

template <typename Market, typename Ever, typename IsOpen, typename OpenCount, typename OpenId>
void check_open_ids(const Market& market, Ever ever, IsOpen is_open, OpenCount open_count, OpenId open_id) {
  const std::size_t total = ever(market);
  std::vector<int> listed(total, 0);
  for (std::size_t slot = 0; slot < open_count(market); ++slot) {
    const std::uint32_t id = open_id(market, slot);
    REQUIRE(id < total);
    REQUIRE(is_open(market, id));
    ++listed[id];
  }
  for (std::uint32_t id = 0; id < total; ++id) REQUIRE(listed[id] == (is_open(market, id) ? 1 : 0));
}

}  // namespace defisim::markets::test
