// Opening every real JWST / stdatamodels / vector file: model class, shapes, dtypes, metadata,
// and open -> save -> reopen round trips.
#include <gtest/gtest.h>

#include "stpipe/io/fits.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe;
using namespace stpipe::models;
using stpipe::testing::shared_data;
using stpipe::testing::TempDir;

namespace {
struct Quiet {
  Quiet() {
    old = set_warning_handler([](const std::string&) {});
  }
  ~Quiet() { set_warning_handler(old); }
  WarningHandler old;
};

std::vector<std::int64_t> S(std::initializer_list<std::int64_t> l) { return l; }
}  // namespace

TEST(OpenReal, RawFgsUncal) {
  STPIPE_REQUIRE_SHARED_DATA();
  Quiet q;
  auto m = open(shared_data("jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits"));
  EXPECT_EQ(m->model_type(), "Level1bModel");
  EXPECT_EQ(m->schema_name(), "level1b");
  ASSERT_TRUE(m->has_array("data"));
  EXPECT_EQ(m->array("data").shape(), S({6, 2, 128, 128}));
  EXPECT_EQ(m->array("data").dtype(), DType::kUint16);
  EXPECT_EQ(m->meta_string("meta.instrument.name"), "FGS");
  EXPECT_EQ(m->meta_string("meta.instrument.detector"), "GUIDER2");
  EXPECT_EQ(m->meta_string("meta.subarray.name"), "128X128");
  EXPECT_EQ(m->meta_string("meta.exposure.type"), "FGS_ACQ1");
  EXPECT_EQ(m->meta_int("meta.exposure.nints"), 6);
  EXPECT_EQ(m->meta_int("meta.exposure.ngroups"), 2);
  EXPECT_EQ(m->meta_string("meta.observation.date"), "2022-04-27");
  auto p = m->crds_parameters();
  EXPECT_EQ(p["META.INSTRUMENT.NAME"], "FGS");
  EXPECT_EQ(p["META.EXPOSURE.NINTS"], "6");
}

TEST(OpenReal, ReferenceFiles) {
  STPIPE_REQUIRE_SHARED_DATA();
  Quiet q;
  auto sb = open(shared_data("jwst/reference/jwst_nirspec_superbias_0075.fits"));
  EXPECT_EQ(sb->model_type(), "SuperBiasModel");
  EXPECT_EQ(sb->array("data").shape(), S({32, 512}));
  EXPECT_EQ(sb->array("dq").dtype(), DType::kUint32);
  EXPECT_EQ(sb->array("err").dtype(), DType::kFloat32);
  EXPECT_TRUE(sb->has_table("dq_def"));
  EXPECT_EQ(sb->meta_string("meta.reftype"), "SUPERBIAS");
  EXPECT_EQ(sb->meta_string("meta.instrument.detector"), "NRS1");

  auto dark = open(shared_data("jwst/reference/jwst_nirspec_dark_0046.fits"));
  EXPECT_EQ(dark->model_type(), "DarkModel");  // no DATAMODL: chosen from REFTYPE
  EXPECT_EQ(dark->array("data").shape(), S({10, 32, 512}));
  EXPECT_EQ(dark->array("dq").dtype(),
            DType::kUint32);  // BITPIX 8 in the file, cast to schema type
  EXPECT_EQ(dark->array("dq").shape(), S({32, 512}));
  ASSERT_FALSE(dark->fits_extras().hdus.empty());  // UNC kept as an extra HDU
  EXPECT_EQ(dark->fits_extras().hdus.back().extname, "UNC");

  auto ipc = open(shared_data("jwst/reference/jwst_nirspec_ipc_with_asdf_extension.fits"));
  EXPECT_EQ(ipc->model_type(), "IPCModel");
  EXPECT_EQ(ipc->array("data").shape(), S({3, 3}));
  EXPECT_EQ(ipc->meta_string("meta.instrument.name"), "NIRSPEC");
}

TEST(OpenReal, Stdatamodels172Files) {
  STPIPE_REQUIRE_SHARED_DATA();
  Quiet q;
  auto ramp = open(shared_data("stdatamodels/stdatamodels172_ramp.fits"));
  EXPECT_EQ(ramp->model_type(), "RampModel");
  EXPECT_EQ(ramp->array("data").shape(), S({2, 3, 8, 10}));
  EXPECT_EQ(ramp->array("pixeldq").dtype(), DType::kUint32);
  EXPECT_EQ(ramp->array("groupdq").dtype(), DType::kUint8);
  EXPECT_EQ(ramp->array("err").shape(), S({2, 3, 8, 10}));
  EXPECT_EQ(ramp->meta_string("meta.instrument.name"), "NIRCAM");

  auto img = open(shared_data("stdatamodels/stdatamodels172_image.fits"));
  EXPECT_EQ(img->model_type(), "ImageModel");
  EXPECT_EQ(img->array("data").shape(), S({8, 10}));
  EXPECT_TRUE(img->get_meta("meta.bunit_data").has_value());  // BUNIT in the SCI header

  auto mask = open(shared_data("stdatamodels/stdatamodels172_mask.fits"));
  EXPECT_EQ(mask->model_type(), "MaskModel");
  EXPECT_EQ(mask->array("dq").shape(), S({8, 10}));
  EXPECT_EQ(mask->table("dq_def").rows() > 0, true);

  auto asdf_img = open(shared_data("stdatamodels/stdatamodels172_image.asdf"));
  EXPECT_EQ(asdf_img->model_type(), "ImageModel");
  EXPECT_EQ(asdf_img->array("data").shape(), S({8, 10}));
  EXPECT_EQ(asdf_img->array("data").dtype(), DType::kFloat32);
  // Same pixels as the FITS version of the same model.
  EXPECT_TRUE(asdf_img->array("data").equals(img->array("data")));
}

TEST(OpenReal, VectorFilesAllTypes) {
  STPIPE_REQUIRE_SHARED_DATA();
  Quiet q;
  struct Expect {
    const char* file;
    const char* type;
    const char* array;
    std::vector<std::int64_t> shape;
    DType dtype;
  };
  std::vector<Expect> cases = {
      {"jw99999001001_01101_00001_nrca1_uncal.fits",
       "RampModel",
       "data",
       {1, 10, 256, 256},
       DType::kFloat32},
      {"ref_dark.fits", "DarkModel", "data", {10, 256, 256}, DType::kFloat32},
      {"ref_flat.fits", "FlatModel", "data", {256, 256}, DType::kFloat32},
      {"ref_gain.fits", "GainModel", "data", {256, 256}, DType::kFloat32},
      {"ref_ipc.fits", "IPCModel", "data", {3, 3}, DType::kFloat32},
      {"ref_linearity.fits", "LinearityModel", "coeffs", {5, 256, 256}, DType::kFloat32},
      {"ref_mask.fits", "MaskModel", "dq", {256, 256}, DType::kUint32},
      {"ref_readnoise.fits", "ReadnoiseModel", "data", {256, 256}, DType::kFloat32},
      {"ref_saturation.fits", "SaturationModel", "data", {256, 256}, DType::kFloat32},
      {"ref_superbias.fits", "SuperBiasModel", "data", {256, 256}, DType::kFloat32},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto m = open(shared_data(std::string("vectors/1x10x256x256/fits/") + c.file));
    EXPECT_EQ(m->model_type(), c.type);
    ASSERT_TRUE(m->has_array(c.array));
    EXPECT_EQ(m->array(c.array).shape(), c.shape);
    EXPECT_EQ(m->array(c.array).dtype(), c.dtype);
    EXPECT_EQ(m->meta_string("meta.instrument.name"), "NIRCAM");
    EXPECT_EQ(m->meta_string("meta.instrument.detector"), "NRCA1");
  }
  auto ramp = open(
      shared_data("vectors/2x8x256x256_nf4gg1/fits/jw99999001001_01101_00001_nrca1_uncal.fits"));
  EXPECT_EQ(ramp->array("data").shape(), S({2, 8, 256, 256}));
  EXPECT_EQ(ramp->meta_int("meta.exposure.nframes"), 4);
  EXPECT_EQ(ramp->meta_int("meta.exposure.groupgap"), 1);
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, OpenSaveReopenEqual) {
  STPIPE_REQUIRE_SHARED_DATA();
  Quiet q;
  auto path = shared_data(GetParam());
  auto a = open(path);
  TempDir dir;
  auto out = dir / ("copy_" + path.filename().string());
  a->save(out);
  auto b = open(out);
  EXPECT_EQ(b->model_type(), a->model_type());
  EXPECT_EQ(b->array_names(), a->array_names());
  for (auto& name : a->array_names()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(b->array(name).equals(a->array(name)));
  }
  EXPECT_EQ(b->table_names(), a->table_names());
  for (auto& name : a->table_names()) EXPECT_TRUE(b->table(name).equals(a->table(name))) << name;
  auto pa = a->crds_parameters();
  auto pb = b->crds_parameters();
  pa.erase("META.DATE");
  pb.erase("META.DATE");
  if (a->is_reference()) {
    // Reference files are written without the ASDF extension (as stdatamodels does), so only
    // metadata with a FITS keyword survives; e.g. the old meta.reffile.* of an ASDF extension.
    std::erase_if(pa, [&](const auto& kv) {
      std::string path = kv.first;
      for (auto& c : path) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return a->schema().keyword_for_path(path) == nullptr;
    });
  }
  EXPECT_EQ(pa, pb);
  EXPECT_EQ(b->fits_extras().history, a->fits_extras().history);
  EXPECT_EQ(b->fits_extras().hdus.size(), a->fits_extras().hdus.size());
  if (path.extension() == ".fits") {
    auto r = stpipe::testing::run_command("fitsverify -q '" + out.string() + "'");
    EXPECT_NE(r.output.find("verification OK"), std::string::npos) << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(
    SharedFiles, RoundTrip,
    ::testing::Values(
        "jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits",
        "jwst/reference/jwst_nirspec_superbias_0075.fits",
        "jwst/reference/jwst_nirspec_dark_0046.fits",
        "jwst/reference/jwst_nirspec_ipc_with_asdf_extension.fits",
        "stdatamodels/stdatamodels172_ramp.fits", "stdatamodels/stdatamodels172_image.fits",
        "stdatamodels/stdatamodels172_mask.fits", "stdatamodels/stdatamodels172_image.asdf",
        "vectors/1x10x256x256/fits/jw99999001001_01101_00001_nrca1_uncal.fits",
        "vectors/1x10x256x256/fits/ref_dark.fits", "vectors/1x10x256x256/fits/ref_flat.fits",
        "vectors/1x10x256x256/fits/ref_gain.fits", "vectors/1x10x256x256/fits/ref_ipc.fits",
        "vectors/1x10x256x256/fits/ref_linearity.fits", "vectors/1x10x256x256/fits/ref_mask.fits",
        "vectors/1x10x256x256/fits/ref_readnoise.fits",
        "vectors/1x10x256x256/fits/ref_saturation.fits",
        "vectors/1x10x256x256/fits/ref_superbias.fits"));
