"""Latent Studio: timelines, rendering, video, CLI and the Gradio app over ganlib generators."""
