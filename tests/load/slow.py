"""Work that takes a moment per partition, in a module workers import cheaply."""
import time


def slow(frame, seconds: float = 0.25):
    time.sleep(seconds)
    return frame
