"""The setup guides, one per system, as Markdown rendered in the app, with the screenshots and the video the
wizard's browser test takes of the real pages (tests/web/wizard), so the guides stay true."""
