// The system libpng (Debian: libpng-dev), through its simplified API (png_image_*), which needs no
// setjmp/longjmp in the caller. Nabla decodes the PNG images of image-folder datasets with it.
#include <png.h>

// The in-memory formats Nabla reads and writes, as constants Swift sees for certain.
static const png_uint_32 nabla_png_format_gray = PNG_FORMAT_GRAY;
static const png_uint_32 nabla_png_format_gray_alpha = PNG_FORMAT_GA;
static const png_uint_32 nabla_png_format_rgb = PNG_FORMAT_RGB;
static const png_uint_32 nabla_png_format_rgba = PNG_FORMAT_RGBA;
static const png_uint_32 nabla_png_format_flag_color = PNG_FORMAT_FLAG_COLOR;
static const png_uint_32 nabla_png_format_flag_alpha = PNG_FORMAT_FLAG_ALPHA;
static const png_uint_32 nabla_png_image_version = PNG_IMAGE_VERSION;
static const png_uint_32 nabla_png_flag_16bit_srgb = PNG_IMAGE_FLAG_16BIT_sRGB;

// libpng's message after a failed call (the png_image's fixed-size message buffer).
static inline const char *nabla_png_message(const png_image *image) { return image->message; }
