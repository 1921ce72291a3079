"""Developer scripts (screenshots, the Xvfb helper). Not part of the installed app."""
