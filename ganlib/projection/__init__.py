"""Projection of images into a generator's latent space (w, w+ or z): settings, loss terms, targets and the loop."""
from ganlib.projection.config import DEFAULT_LOSS, LOSS_PRESETS, ProjectionConfig, make_config
from ganlib.projection.optimize import Projection, project, psnr
from ganlib.projection.target import expand_images, fit_to_model, load_target, read_image, side_by_side

__all__ = ["DEFAULT_LOSS", "LOSS_PRESETS", "ProjectionConfig", "make_config", "Projection", "project", "psnr",
           "expand_images", "fit_to_model", "load_target", "read_image", "side_by_side"]
