// Snowball flagging (stcal flag_large_events): connected regions of new saturation and of jumps,
// their moment ellipses (as scikit-image's regionprops gives them), and filled ellipses drawn as
// scikit-image's draw.ellipse rasterises them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "stpipe/steps/dqflags.h"
#include "stpipe/steps/jump.h"

namespace stpipe::steps {

namespace {

constexpr std::uint8_t kSat = static_cast<std::uint8_t>(dq::kSaturated);
constexpr std::uint8_t kJump = static_cast<std::uint8_t>(dq::kJumpDet);
constexpr double kPi = 3.141592653589793;
constexpr std::uint64_t kSat8 = 0x0202020202020202ull * (kSat / 2);
constexpr std::uint64_t kJump8 = 0x0101010101010101ull * kJump;

// Eight groupdq bytes from p + k.
inline std::uint64_t word(const std::uint8_t* p, std::int64_t k) {
  std::uint64_t w;
  std::memcpy(&w, p + k, sizeof w);
  return w;
}

// numpy's degrees/radians: a multiplication by 180/pi or pi/180.
inline double degrees(double r) { return r * (180.0 / kPi); }
inline double radians(double d) { return d * (kPi / 180.0); }

// Python's round() of a float: to the nearest integer, ties to even.
inline std::int64_t py_round(double x) { return static_cast<std::int64_t>(std::nearbyint(x)); }

// numpy's floating remainder (x % m with the sign of m).
inline double py_mod(double x, double m) {
  double r = std::fmod(x, m);
  if (r != 0.0 && ((r < 0.0) != (m < 0.0))) r += m;
  return r == 0.0 ? std::copysign(0.0, m) : r;
}

// Eigenvalues of the symmetric 2x2 matrix [[a, b], [b, c]] as numpy's eigvalsh gets them from
// LAPACK (dsyevd -> dsterf): the off-diagonal is dropped when it is negligible next to the
// diagonal (dsterf's two tests, with eps = 2^-53); otherwise the 2x2 block formula (dlae2) on
// |b| = sqrt(b^2). Returns them in any order.
void eig2x2(double a, double b, double c, double& ev1, double& ev2) {
  constexpr double eps = 0x1p-53, eps2 = eps * eps;
  const double tst = std::fabs(b);
  const double e2 = b * b;
  if (tst == 0.0 || tst <= (std::sqrt(std::fabs(a)) * std::sqrt(std::fabs(c))) * eps ||
      e2 <= eps2 * std::fabs(a * c)) {
    ev1 = a;
    ev2 = c;
    return;
  }
  b = std::sqrt(e2);
  const double sm = a + c, df = a - c, adf = std::fabs(df), tb = b + b, ab = std::fabs(tb);
  const bool a_larger = std::fabs(a) > std::fabs(c);
  const double acmx = a_larger ? a : c, acmn = a_larger ? c : a;
  double rt;
  if (adf > ab) {
    const double r = ab / adf;
    rt = adf * std::sqrt(1.0 + r * r);
  } else if (adf < ab) {
    const double r = adf / ab;
    rt = ab * std::sqrt(1.0 + r * r);
  } else {
    rt = ab * std::sqrt(2.0);
  }
  if (sm < 0.0) {
    ev1 = 0.5 * (sm - rt);
    ev2 = (acmx / ev1) * acmn - (b / ev1) * b;
  } else if (sm > 0.0) {
    ev1 = 0.5 * (sm + rt);
    ev2 = (acmx / ev1) * acmn - (b / ev1) * b;
  } else {
    ev1 = 0.5 * rt;
    ev2 = -0.5 * rt;
  }
}

// One plane's region finder: 8-connected regions of the pixels where `in(p)` holds, visited in
// raster order of their first pixel.
class Regions {
 public:
  Regions(std::int64_t ny, std::int64_t nx)
      : ny_(ny), nx_(nx), stamp_(static_cast<std::size_t>(ny * nx), 0) {}

  // Calls `take(ellipse)` for every region whose filled area is at least `min_area`. `in(p)`
  // says whether pixel p belongs to the mask; `any8(p)` whether one of p .. p+7 may (a quick
  // test on 8 bytes at a time: most of a plane is empty).
  template <class In, class Any8, class Take>
  void find(const In& in, const Any8& any8, double min_area, const Take& take) {
    if (++gen_ == 0) {  // the stamps wrapped: start again
      std::fill(stamp_.begin(), stamp_.end(), std::uint8_t{0});
      gen_ = 1;
    }
    const std::int64_t n = ny_ * nx_;
    for (std::int64_t b0 = 0; b0 < n; b0 += 64) {
      const std::int64_t b1 = std::min(n, b0 + 64);
      if (b1 - b0 == 64) {
        bool any = false;
        for (std::int64_t k = b0; k < b1; k += 8) any |= any8(k);
        if (!any) continue;
      }
      for (std::int64_t p0 = b0; p0 < b1; ++p0) {
        if (!in(p0) || stamp_[p0] == gen_) continue;
        grow(in, p0, min_area, take);
      }
    }
  }

 private:
  // The region of p0: flood fill (8-connected), then measure and hand it to `take`.
  template <class In, class Take>
  void grow(const In& in, std::int64_t p0, double min_area, const Take& take) {
    pix_.clear();
    stack_.clear();
    stack_.push_back(p0);
    stamp_[p0] = gen_;
    while (!stack_.empty()) {
      const std::int64_t p = stack_.back();
      stack_.pop_back();
      pix_.push_back(p);
      const std::int64_t y = p / nx_, x = p % nx_;
      for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
          const std::int64_t yy = y + dy, xx = x + dx;
          if ((dy == 0 && dx == 0) || yy < 0 || xx < 0 || yy >= ny_ || xx >= nx_) continue;
          const std::int64_t q = yy * nx_ + xx;
          if (stamp_[q] == gen_ || !in(q)) continue;
          stamp_[q] = gen_;
          stack_.push_back(q);
        }
    }
    LargeEventEllipse e;
    if (measure(min_area, e)) take(e);
  }

  // regionprops of the region in pix_: filled area, centroid, moment ellipse.
  bool measure(double min_area, LargeEventEllipse& e) {
    std::sort(pix_.begin(), pix_.end());  // raster order, as np.argwhere
    std::int64_t y0 = ny_, y1 = -1, x0 = nx_, x1 = -1;
    for (const std::int64_t p : pix_) {
      const std::int64_t y = p / nx_, x = p % nx_;
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
    }
    const std::int64_t h = y1 - y0 + 1, w = x1 - x0 + 1,
                       area = static_cast<std::int64_t>(pix_.size());
    if (static_cast<double>(area) < min_area &&
        static_cast<double>(filled_area(y0, x0, h, w)) < min_area)
      return false;
    // Raw moments of the bounding-box image give the local centroid (exact integer sums).
    double sr = 0, sc = 0;
    for (const std::int64_t p : pix_) {
      sr += static_cast<double>(p / nx_ - y0);
      sc += static_cast<double>(p % nx_ - x0);
    }
    const double n = static_cast<double>(area);
    const double rbar = sr / n, cbar = sc / n;
    // Central moments as skimage forms them: per column, sums over rows of dr^p; then over
    // columns of those times dc^q.
    col0_.assign(static_cast<std::size_t>(w), 0.0);
    col1_.assign(static_cast<std::size_t>(w), 0.0);
    col2_.assign(static_cast<std::size_t>(w), 0.0);
    for (const std::int64_t p : pix_) {
      const double dr = static_cast<double>(p / nx_ - y0) - rbar;
      const std::size_t c = static_cast<std::size_t>(p % nx_ - x0);
      col0_[c] += 1.0;
      col1_[c] += dr;
      col2_[c] += dr * dr;
    }
    double mu20 = 0, mu11 = 0, mu02 = 0;
    for (std::int64_t c = 0; c < w; ++c) {
      const double dc = static_cast<double>(c) - cbar;
      mu20 += col2_[c];
      mu11 += col1_[c] * dc;
      mu02 += col0_[c] * (dc * dc);
    }
    // Inertia tensor [[a, b], [b, c]] (skimage: each diagonal term is the sum of the others).
    const double sum2 = mu20 + mu02;
    const double ta = (sum2 - mu20) / n, tc = (sum2 - mu02) / n, tb = -mu11 / n;
    double ev1, ev2;
    eig2x2(ta, tb, tc, ev1, ev2);
    double hi = std::max(ev1, ev2), lo = std::min(ev1, ev2);
    hi = std::max(hi, 0.0);
    lo = std::max(lo, 0.0);
    const double major = 4.0 * std::sqrt(hi), minor = 4.0 * std::sqrt(lo);
    double orientation;
    if (ta - tc == 0.0)
      orientation = tb < 0.0 ? kPi / 4.0 : -kPi / 4.0;
    else
      orientation = 0.5 * std::atan2(-2.0 * tb, tc - ta);
    // The centroid in image coordinates: the mean of the pixel coordinates.
    double gr = 0, gc = 0;
    for (const std::int64_t p : pix_) {
      gr += static_cast<double>(p / nx_);
      gc += static_cast<double>(p % nx_);
    }
    e.col = gc / n;
    e.row = gr / n;
    e.axis1 = minor - 1.0;
    e.axis2 = major - 1.0;
    e.angle = degrees(orientation);
    return true;
  }

  // The area with holes filled: the bounding box minus the background reachable from its
  // border through 8-connected background pixels (scipy binary_fill_holes with a 3x3 block).
  std::int64_t filled_area(std::int64_t y0, std::int64_t x0, std::int64_t h, std::int64_t w) {
    box_.assign(static_cast<std::size_t>(h * w), 0);  // 1 = region, 2 = outside background
    for (const std::int64_t p : pix_) box_[(p / nx_ - y0) * w + (p % nx_ - x0)] = 1;
    std::vector<std::int64_t> st;
    auto seed = [&](std::int64_t k) {
      if (box_[k] == 0) {
        box_[k] = 2;
        st.push_back(k);
      }
    };
    for (std::int64_t x = 0; x < w; ++x) {
      seed(x);
      seed((h - 1) * w + x);
    }
    for (std::int64_t y = 0; y < h; ++y) {
      seed(y * w);
      seed(y * w + w - 1);
    }
    while (!st.empty()) {
      const std::int64_t k = st.back();
      st.pop_back();
      const std::int64_t y = k / w, x = k % w;
      for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
          const std::int64_t yy = y + dy, xx = x + dx;
          if (yy >= 0 && xx >= 0 && yy < h && xx < w) seed(yy * w + xx);
        }
    }
    std::int64_t outside = 0;
    for (const auto v : box_) outside += v == 2;
    return h * w - outside;
  }

  std::int64_t ny_, nx_;
  std::vector<std::uint8_t> stamp_;  // == gen_: visited in the current search
  std::uint8_t gen_ = 0;
  std::vector<std::int64_t> pix_, stack_;
  std::vector<double> col0_, col1_, col2_;
  std::vector<std::uint8_t> box_;
};

// stcal point_inside_ellipse for points (col, row) and one ellipse, its rotation and axes worked
// out once.
class Inside {
 public:
  explicit Inside(const LargeEventEllipse& e) : e_(e) {
    const double angle = radians(180.0 - e.angle);
    ca_ = std::cos(angle);
    sa_ = std::sin(angle);
    if (e.axis2 >= e.axis1) {
      major_ = e.axis2 * 0.5;
      minor_ = e.axis1 * 0.5;
    } else {
      major_ = e.axis1 * 0.5;
      minor_ = e.axis2 * 0.5;
    }
  }
  /// Half the side of a square around the centre outside which no point is inside (+inf when
  /// the axes give no such bound).
  double reach() const {
    return major_ > 0.0 && std::fabs(minor_) <= major_ ? std::fabs(major_) * (1.0 + 1e-9)
                                                       : std::numeric_limits<double>::infinity();
  }
  double row() const { return e_.row; }
  bool operator()(double pcol, double prow) const {
    const double xc = pcol - e_.col, yc = prow - e_.row;
    // Farther than the semi-major axis (by more than rounding) is outside: skip the sums.
    const double reach = std::fabs(major_) * (1.0 + 1e-9);
    if (major_ > 0.0 && std::fabs(minor_) <= major_ &&
        (std::fabs(xc) > reach || std::fabs(yc) > reach))
      return false;
    const double xct = xc * ca_ - yc * sa_;
    const double yct = xc * sa_ + yc * ca_;
    const double rad = (xct * xct) / (major_ * major_) + (yct * yct) / (minor_ * minor_);
    return rad <= 1.0;
  }

 private:
  LargeEventEllipse e_;
  double ca_ = 0, sa_ = 0, major_ = 0, minor_ = 0;
};

}  // namespace

void draw_large_event_ellipse(std::int64_t ny, std::int64_t nx, double col, double row,
                              double axis1, double axis2, double angle_deg,
                              const std::function<void(std::int64_t, std::int64_t)>& visit) {
  // stcal ellipse_subim: a sub-image around the rounded centre...
  const std::int64_t yc = py_round(col), xc = py_round(row);
  const std::int64_t a1 = py_round(axis1 / 2.0), a2 = py_round(axis2 / 2.0);
  const std::int64_t dn = std::max(a1, a2) + 2;
  const std::int64_t ix1 = std::max<std::int64_t>(yc - dn, 0), ix2 = std::min(yc + dn + 1, nx);
  const std::int64_t iy1 = std::max<std::int64_t>(xc - dn, 0), iy2 = std::min(xc + dn + 1, ny);
  const std::int64_t sh = iy2 - iy1, sw = ix2 - ix1;
  if (a1 == 0 || a2 == 0 || sh <= 0 || sw <= 0) return;
  // ... and skimage.draw.ellipse(r, c, r_radius = a2, c_radius = a1, shape, rotation) in it.
  const double r = static_cast<double>(xc - iy1), c = static_cast<double>(yc - ix1);
  const double rr_rad = static_cast<double>(a2), cr_rad = static_cast<double>(a1);
  const double rot = py_mod(radians(angle_deg), kPi);
  const double cs = std::cos(rot), sn = std::sin(rot);
  const double r_rot = std::fabs(rr_rad * cs) + cr_rad * sn;
  const double c_rot = rr_rad * sn + std::fabs(cr_rad * cs);
  std::int64_t ul0 = static_cast<std::int64_t>(std::ceil(r - r_rot));
  std::int64_t ul1 = static_cast<std::int64_t>(std::ceil(c - c_rot));
  std::int64_t lr0 = static_cast<std::int64_t>(std::floor(r + r_rot));
  std::int64_t lr1 = static_cast<std::int64_t>(std::floor(c + c_rot));
  ul0 = std::max<std::int64_t>(ul0, 0);
  ul1 = std::max<std::int64_t>(ul1, 0);
  lr0 = std::min(lr0, sh - 1);
  lr1 = std::min(lr1, sw - 1);
  const double r_org = r - static_cast<double>(ul0), c_org = c - static_cast<double>(ul1);
  for (std::int64_t i = 0; i <= lr0 - ul0; ++i)
    for (std::int64_t j = 0; j <= lr1 - ul1; ++j) {
      const double dr = static_cast<double>(i) - r_org, dc = static_cast<double>(j) - c_org;
      const double u = (dr * cs + dc * sn) / rr_rad;
      const double v = (dr * sn - dc * cs) / cr_rad;
      if (u * u + v * v < 1.0) visit(iy1 + ul0 + i, ix1 + ul1 + j);
    }
}

std::int64_t flag_large_events(const RampShape& shape, std::span<std::uint8_t> groupdq,
                               const LargeEventParams& p) {
  const std::int64_t N = shape.nints, G = shape.ngroups, ny = shape.ny, nx = shape.nx;
  const std::int64_t npix = shape.npix();
  if (static_cast<std::int64_t>(groupdq.size()) != shape.size())
    throw std::invalid_argument("flag_large_events: groupdq size does not match the ramp shape");
  if (N <= 0 || G < 2 || npix == 0) return 0;
  std::uint8_t* const q = groupdq.data();
  Regions regions(ny, nx), regions2(ny, nx);  // one per search thread
  std::vector<std::uint8_t> persist(static_cast<std::size_t>(N * npix), 0);
  std::vector<LargeEventEllipse> sat, next_sat, jumps, snowballs;
  std::vector<std::pair<double, double>> centres;  // (row, col) of new saturated cores
  std::int64_t total = 0;
  const double edge_lo = static_cast<double>(p.edge_size);
  const double edge_hi = static_cast<double>(std::max<std::int64_t>(0, ny - p.edge_size));
  auto near_edge = [&](const LargeEventEllipse& e) {
    return e.col < edge_lo || e.row < edge_lo || e.col > edge_hi || e.row > edge_hi;
  };
  for (std::int64_t i = 0; i < N; ++i) {
    std::uint8_t* const qi = q + i * G * npix;
    std::uint8_t* const pers = persist.data() + i * npix;
    for (std::int64_t g = 1; g < G; ++g) {
      const std::uint8_t* cur = qi + g * npix;
      const std::uint8_t* prev = qi + (g - 1) * npix;
      auto collect = [](std::vector<LargeEventEllipse>& out) {
        out.clear();
        return [&out](const LargeEventEllipse& e) { out.push_back(e); };
      };
      // Newly saturated pixels in this group and (for all but the last) in the next one, and
      // the jumps: three independent searches (the jumps on a second thread).
#pragma omp parallel sections num_threads(2) if (npix >= 65536)
      {
#pragma omp section
        {
          regions.find([&](std::int64_t k) { return (cur[k] & kSat) && !(prev[k] & kSat); },
                       [&](std::int64_t k) { return (word(cur, k) & ~word(prev, k) & kSat8) != 0; },
                       p.min_sat_area, collect(sat));
          next_sat.clear();
          if (g + 1 < G) {
            const std::uint8_t* nxt = qi + (g + 1) * npix;
            regions.find(
                [&](std::int64_t k) { return (nxt[k] & kSat) && !(cur[k] & kSat); },
                [&](std::int64_t k) { return (word(nxt, k) & ~word(cur, k) & kSat8) != 0; },
                p.min_sat_area, collect(next_sat));
          }
        }
#pragma omp section
        regions2.find([&](std::int64_t k) { return (cur[k] & kJump) != 0; },
                      [&](std::int64_t k) { return (word(cur, k) & kJump8) != 0; }, p.min_jump_area,
                      collect(jumps));
      }
      snowballs.clear();
      if (p.sat_required_snowball) {
        // A jump region is a snowball when it holds the centre of a new saturated region (this
        // group's or the next's), or lies near the detector edge.
        // The cores' centres (this group's and the next's), sorted by row, so that each jump
        // region tests only those within its reach.
        centres.clear();
        for (const auto& c : sat) centres.push_back({c.row, c.col});
        if (g + 1 < G)
          for (const auto& c : next_sat) centres.push_back({c.row, c.col});
        std::sort(centres.begin(), centres.end());
        for (const auto& j : jumps) {
          bool take = near_edge(j);
          const Inside inside(j);
          const double reach = inside.reach();
          auto it = std::isinf(reach)
                        ? centres.begin()
                        : std::lower_bound(centres.begin(), centres.end(),
                                           std::pair<double, double>{j.row - reach, -INFINITY});
          for (; it != centres.end() && !take; ++it) {
            if (!std::isinf(reach) && it->first > j.row + reach) break;
            take = inside(it->second, it->first);
          }
          if (take) snowballs.push_back(j);
        }
        // Saturated cores wider than min_sat_radius_extend grow by sat_expand (SATURATED from
        // this group on, replacing the other flags as stcal does); the unexpanded core is kept
        // for the next integration.
        for (const auto& s : sat) {
          if (!(std::min(s.axis1, s.axis2) > p.min_sat_radius_extend)) continue;
          const double a1 = std::min(s.axis1 + p.sat_expand, p.max_extended_width);
          const double a2 = std::min(s.axis2 + p.sat_expand, p.max_extended_width);
          draw_large_event_ellipse(ny, nx, s.col, s.row, a1, a2, s.angle,
                                   [&](std::int64_t y, std::int64_t x) {
                                     for (std::int64_t k = g; k < G; ++k)
                                       qi[k * npix + y * nx + x] = kSat;
                                   });
          draw_large_event_ellipse(
              ny, nx, s.col, s.row, s.axis1, s.axis2, s.angle,
              [&](std::int64_t y, std::int64_t x) { pers[y * nx + x] = kJump; });
        }
      } else {
        snowballs = jumps;
      }
      total += static_cast<std::int64_t>(snowballs.size());
      // Every snowball grows by expand_factor (the minor axis sets how much both grow) and is
      // flagged JUMP in this group where not saturated.
      std::uint8_t* qg = qi + g * npix;
      for (const auto& e : snowballs) {
        double a1, a2;
        const double f = p.expand_factor;
        if (e.axis2 < e.axis1) {
          a1 = e.axis1 + (f - 1.0) * e.axis2;
          a2 = e.axis2 * f;
        } else {
          a1 = e.axis1 * f;
          a2 = e.axis2 + (f - 1.0) * e.axis1;
        }
        a1 = std::min(a1, p.max_extended_width);
        a2 = std::min(a2, p.max_extended_width);
        const double ax1 = static_cast<double>(py_round(a1 / 2.0) * 2);
        const double ax2 = static_cast<double>(py_round(a2 / 2.0) * 2);
        draw_large_event_ellipse(ny, nx, e.col, e.row, ax1, ax2, e.angle,
                                 [&](std::int64_t y, std::int64_t x) {
                                   std::uint8_t& v = qg[y * nx + x];
                                   if ((v & kSat) != kSat) v |= kJump;
                                 });
      }
    }
  }
  // Saturated snowball cores stay flagged in the first groups of the next integration.
  if (p.mask_persist_groups_next_int && p.persist_groups_flagged >= 1) {
    const std::int64_t last = std::min<std::int64_t>(p.persist_groups_flagged, G);
    for (std::int64_t i = 1; i < N; ++i)
      for (std::int64_t g = 1; g < last; ++g) {
        std::uint8_t* qg = q + (i * G + g) * npix;
        const std::uint8_t* pr = persist.data() + (i - 1) * npix;
        for (std::int64_t k = 0; k < npix; ++k) qg[k] |= pr[k];
      }
  }
  return total;
}

}  // namespace stpipe::steps
