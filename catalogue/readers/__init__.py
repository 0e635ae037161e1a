"""Readers turn files of the content tree into plain values plus problems; they never raise."""
