"""The local lab: several real hosts (netns + own root + systemd + sshd) on one Linux machine."""
