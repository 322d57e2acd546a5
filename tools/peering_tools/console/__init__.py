"""The local console: a small web page served by the emulator (``peering local up`` prints its URL).

``server`` serves ``static/`` (plain HTML, JavaScript and CSS, no build step) and a JSON API that
``data`` answers from the emulator; ``graph`` turns the deployed ASL definition and one execution's
timeline into the coloured graph the page draws.
"""
