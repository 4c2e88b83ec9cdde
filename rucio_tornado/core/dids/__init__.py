"""dids"""
