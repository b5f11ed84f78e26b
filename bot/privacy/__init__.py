"""Privacy: erasing a customer's data, the retention job, and logs without customers' words."""
